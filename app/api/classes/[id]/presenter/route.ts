import { route } from "@/server/api/route";
import { presenter } from "@/server/api/classes";

export const POST = route(presenter);
