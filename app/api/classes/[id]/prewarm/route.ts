import { route } from "@/server/api/route";
import { prewarm } from "@/server/api/classes";

export const POST = route(prewarm);
