-- Times a worker was lost while on the job (its lease ran out): such a job is run again without
-- using up an attempt, and set aside (`worker_lost`) after `queue.max_lost_leases` losses.
ALTER TABLE jobs ADD COLUMN lost_leases INTEGER NOT NULL DEFAULT 0;
