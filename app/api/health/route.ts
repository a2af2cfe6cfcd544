import { route } from "@/server/api/route";
import { health } from "@/server/api/misc";

export const dynamic = "force-dynamic";
export const GET = route(health);
