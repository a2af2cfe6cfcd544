import { route } from "@/server/api/route";
import { login } from "@/server/api/misc";

export const POST = route(login);
