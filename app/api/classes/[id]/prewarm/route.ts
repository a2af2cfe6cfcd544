import { route } from "@/server/api/route";
import { prewarm, prewarmStatus } from "@/server/api/classes";

export const GET = route(prewarmStatus);
export const POST = route(prewarm);
