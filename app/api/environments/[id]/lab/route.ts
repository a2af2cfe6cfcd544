import { route } from "@/server/api/route";
import { switchLab } from "@/server/api/environments";

export const POST = route(switchLab);
