import { route } from "@/server/api/route";
import { create, list } from "@/server/api/classes";

export const GET = route(list);
export const POST = route(create);
