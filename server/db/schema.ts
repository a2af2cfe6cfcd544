import { sqliteTable, text, integer, primaryKey, index } from "drizzle-orm/sqlite-core";

/** Key/value settings: the instructor password hash, the cookie signing secret. */
export const settings = sqliteTable("settings", {
  key: text("key").primaryKey(),
  value: text("value").notNull(),
});

export const classes = sqliteTable("classes", {
  id: text("id").primaryKey(),
  title: text("title").notNull(),
  /** JSON array of lab ids, in order. */
  labs: text("labs").notNull(),
  joinCode: text("join_code").notNull().unique(),
  /** Whether learners follow the instructor's slide (presenter mode). */
  followSlides: integer("follow_slides", { mode: "boolean" }).notNull().default(false),
  presenterSlide: integer("presenter_slide").notNull().default(0),
  createdAt: integer("created_at").notNull(),
  endedAt: integer("ended_at"),
});

export const learners = sqliteTable(
  "learners",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    classId: text("class_id").references(() => classes.id),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("learners_class").on(t.classId)],
);

export const environments = sqliteTable(
  "environments",
  {
    id: text("id").primaryKey(),
    learnerId: text("learner_id").notNull().references(() => learners.id),
    classId: text("class_id").references(() => classes.id),
    /** The lab the learner works on now. */
    labId: text("lab_id").notNull(),
    /** JSON EnvironmentParams (domain, users, addresses). */
    params: text("params").notNull(),
    createdAt: integer("created_at").notNull(),
    lastActiveAt: integer("last_active_at").notNull(),
    destroyedAt: integer("destroyed_at"),
  },
  (t) => [index("environments_learner").on(t.learnerId), index("environments_class").on(t.classId)],
);

/** Latest check result of each step of an environment, plus what the dashboard needs to spot who is stuck. */
export const stepResults = sqliteTable(
  "step_results",
  {
    environmentId: text("environment_id").notNull().references(() => environments.id),
    stepId: text("step_id").notNull(),
    status: text("status", { enum: ["pass", "fail", "pending"] }).notNull(),
    /** JSON array of stored check results (server/maillab/step-state.ts StoredCheck). */
    checks: text("checks").notNull(),
    /** Consecutive runs with changed inputs whose failure was the same as before. */
    sameFailures: integer("same_failures").notNull().default(0),
    /** When the step became the learner's current step. */
    firstSeenAt: integer("first_seen_at").notNull(),
    passedAt: integer("passed_at"),
    updatedAt: integer("updated_at").notNull(),
    /** Set when the step was fast-forwarded by a solve script rather than by the learner. */
    solvedBy: text("solved_by"),
    /** A passed step whose state checks fail now ("was done, now broken"); it stays passed. */
    broken: integer("broken", { mode: "boolean" }).notNull().default(false),
  },
  (t) => [primaryKey({ columns: [t.environmentId, t.stepId] })],
);
