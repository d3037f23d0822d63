-- Whether a report counts toward the automatic ban (its reporter's e-mail confirmed and the
-- account old enough, when it was filed). Reports filed before, and by a release that does not
-- know the rule, count as they did then.
ALTER TABLE reports ADD COLUMN counted boolean NOT NULL DEFAULT true;
