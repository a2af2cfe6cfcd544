import { route } from "@/server/api/route";
import { join } from "@/server/api/classes";

export const POST = route(join);
