import { route } from "@/server/api/route";
import { end } from "@/server/api/classes";

export const DELETE = route(end);
