CREATE TABLE `classes` (
	`id` text PRIMARY KEY NOT NULL,
	`title` text NOT NULL,
	`labs` text NOT NULL,
	`join_code` text NOT NULL,
	`follow_slides` integer DEFAULT false NOT NULL,
	`presenter_slide` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL,
	`ended_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `classes_join_code_unique` ON `classes` (`join_code`);--> statement-breakpoint
CREATE TABLE `environments` (
	`id` text PRIMARY KEY NOT NULL,
	`learner_id` text NOT NULL,
	`class_id` text,
	`lab_id` text NOT NULL,
	`params` text NOT NULL,
	`created_at` integer NOT NULL,
	`last_active_at` integer NOT NULL,
	`destroyed_at` integer,
	FOREIGN KEY (`learner_id`) REFERENCES `learners`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`class_id`) REFERENCES `classes`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `environments_learner` ON `environments` (`learner_id`);--> statement-breakpoint
CREATE INDEX `environments_class` ON `environments` (`class_id`);--> statement-breakpoint
CREATE TABLE `learners` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`class_id` text,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`class_id`) REFERENCES `classes`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `learners_class` ON `learners` (`class_id`);--> statement-breakpoint
CREATE TABLE `settings` (
	`key` text PRIMARY KEY NOT NULL,
	`value` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `step_results` (
	`environment_id` text NOT NULL,
	`step_id` text NOT NULL,
	`status` text NOT NULL,
	`checks` text NOT NULL,
	`same_failures` integer DEFAULT 0 NOT NULL,
	`first_seen_at` integer NOT NULL,
	`passed_at` integer,
	`updated_at` integer NOT NULL,
	`solved_by` text,
	PRIMARY KEY(`environment_id`, `step_id`),
	FOREIGN KEY (`environment_id`) REFERENCES `environments`(`id`) ON UPDATE no action ON DELETE no action
);
