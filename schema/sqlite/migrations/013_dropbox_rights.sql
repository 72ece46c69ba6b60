-- Drop box logins' rights (upload, list, read, delete), where can_list
-- allowed listing, reading and deleting at once. Existing logins keep
-- what they had; new ones are upload-only unless given more.
ALTER TABLE dropbox_accounts ADD COLUMN rights text NOT NULL DEFAULT 'upload';
UPDATE dropbox_accounts SET rights = 'upload,list,read,delete' WHERE can_list;
