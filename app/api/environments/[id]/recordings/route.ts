import { route } from "@/server/api/route";
import { recordings } from "@/server/api/environments";

export const GET = route(recordings);
