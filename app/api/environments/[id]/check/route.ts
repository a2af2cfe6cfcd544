import { route } from "@/server/api/route";
import { check } from "@/server/api/environments";

export const POST = route(check);
