import { route } from "@/server/api/route";
import { reset } from "@/server/api/environments";

export const POST = route(reset);
