import { route } from "@/server/api/route";
import { solve } from "@/server/api/environments";

export const POST = route(solve);
