import { route } from "@/server/api/route";
import { events } from "@/server/api/environments";

export const dynamic = "force-dynamic";
export const GET = route(events);
