import { route } from "@/server/api/route";
import { exportCsv } from "@/server/api/classes";

export const GET = route(exportCsv);
