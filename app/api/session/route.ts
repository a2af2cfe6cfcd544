import { route } from "@/server/api/route";
import { startSelfPaced } from "@/server/api/environments";

export const POST = route(startSelfPaced);
