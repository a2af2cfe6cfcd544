import { route } from "@/server/api/route";
import { progress } from "@/server/api/classes";

export const GET = route(progress);
