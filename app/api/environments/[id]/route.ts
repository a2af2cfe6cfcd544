import { route } from "@/server/api/route";
import { destroy, get } from "@/server/api/environments";

export const GET = route(get);
export const DELETE = route(destroy);
