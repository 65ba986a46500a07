ALTER TABLE "builds" ADD COLUMN "version" integer;--> statement-breakpoint
ALTER TABLE "builds" ADD COLUMN "rollback_of" integer;--> statement-breakpoint
UPDATE "builds" AS b SET "version" = v.n FROM (SELECT "id", row_number() OVER (PARTITION BY "session_id" ORDER BY "iteration") AS n FROM "builds" WHERE "status" = 'succeeded') AS v WHERE b."id" = v."id";--> statement-breakpoint
CREATE UNIQUE INDEX "builds_session_version_uq" ON "builds" USING btree ("session_id","version");
