import { route } from "@/server/api/route";
import { labs } from "@/server/api/misc";

export const GET = route(labs);
