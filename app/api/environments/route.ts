import { route } from "@/server/api/route";
import { create } from "@/server/api/environments";

export const POST = route(create);
