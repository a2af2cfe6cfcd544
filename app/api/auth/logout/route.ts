import { route } from "@/server/api/route";
import { logout } from "@/server/api/misc";

export const POST = route(logout);
