import Database from "better-sqlite3";
import { drizzle } from "drizzle-orm/better-sqlite3";
import { migrate } from "drizzle-orm/better-sqlite3/migrator";
import { and, eq, isNull } from "drizzle-orm";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as schema from "./schema";

const MIGRATIONS = path.join(path.dirname(fileURLToPath(import.meta.url)), "migrations");

export type ClassRow = typeof schema.classes.$inferSelect;
export type LearnerRow = typeof schema.learners.$inferSelect;
export type EnvironmentRow = typeof schema.environments.$inferSelect;
export type StepResultRow = typeof schema.stepResults.$inferSelect;
export type Store = ReturnType<typeof openStore>;

/** Opens (creating if needed) the SQLite database in the data directory and applies migrations. */
export function openStore(dataDir: string) {
  mkdirSync(dataDir, { recursive: true });
  const sqlite = new Database(path.join(dataDir, "maillab.sqlite"));
  // WAL: readers (dashboard polls) never block the check writer.
  sqlite.pragma("journal_mode = WAL");
  sqlite.pragma("foreign_keys = ON");
  sqlite.pragma("busy_timeout = 5000");
  const db = drizzle(sqlite, { schema });
  migrate(db, { migrationsFolder: MIGRATIONS });
  const { settings, classes, learners, environments, stepResults } = schema;

  return {
    close: () => sqlite.close(),

    getSetting: (key: string) => db.select().from(settings).where(eq(settings.key, key)).get()?.value,
    setSetting: (key: string, value: string) =>
      db.insert(settings).values({ key, value }).onConflictDoUpdate({ target: settings.key, set: { value } }).run(),

    insertClass: (row: typeof classes.$inferInsert) => db.insert(classes).values(row).run(),
    getClass: (id: string) => db.select().from(classes).where(eq(classes.id, id)).get(),
    getClassByCode: (code: string) => db.select().from(classes).where(eq(classes.joinCode, code)).get(),
    listClasses: () => db.select().from(classes).all(),
    updateClass: (id: string, set: Partial<typeof classes.$inferInsert>) =>
      db.update(classes).set(set).where(eq(classes.id, id)).run(),

    insertLearner: (row: typeof learners.$inferInsert) => db.insert(learners).values(row).run(),
    getLearner: (id: string) => db.select().from(learners).where(eq(learners.id, id)).get(),
    listLearnersOfClass: (classId: string) => db.select().from(learners).where(eq(learners.classId, classId)).all(),

    insertEnvironment: (row: typeof environments.$inferInsert) => db.insert(environments).values(row).run(),
    getEnvironment: (id: string) => db.select().from(environments).where(eq(environments.id, id)).get(),
    liveEnvironmentOfLearner: (learnerId: string) =>
      db.select().from(environments)
        .where(and(eq(environments.learnerId, learnerId), isNull(environments.destroyedAt)))
        .get(),
    liveEnvironments: () => db.select().from(environments).where(isNull(environments.destroyedAt)).all(),
    environmentsOfClass: (classId: string) =>
      db.select().from(environments).where(eq(environments.classId, classId)).all(),
    updateEnvironment: (id: string, set: Partial<typeof environments.$inferInsert>) =>
      db.update(environments).set(set).where(eq(environments.id, id)).run(),

    stepResultsOf: (environmentId: string) =>
      db.select().from(stepResults).where(eq(stepResults.environmentId, environmentId)).all(),
    upsertStepResult: (row: typeof stepResults.$inferInsert) =>
      db.insert(stepResults).values(row)
        .onConflictDoUpdate({ target: [stepResults.environmentId, stepResults.stepId], set: row })
        .run(),
    clearStepResults: (environmentId: string) =>
      db.delete(stepResults).where(eq(stepResults.environmentId, environmentId)).run(),
  };
}
