import { route } from "@/server/api/route";
import { recording } from "@/server/api/environments";

export const GET = route(recording);
