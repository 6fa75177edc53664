-- Times the job was running in a process that crashed (a fatal signal its handler recorded, see
-- src/queue/crash.rs). A lost lease alone (a kill, a deploy, a power cut) is not the file's
-- fault: only crashes set a job aside (`worker_lost`).
ALTER TABLE jobs ADD COLUMN crashes INTEGER NOT NULL DEFAULT 0;
