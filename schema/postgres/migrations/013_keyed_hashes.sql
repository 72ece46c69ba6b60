-- Content and raw-record hashes are keyed (HMAC-SHA256 under a key derived
-- from the master key): an unkeyed hash of a record that holds an SSN,
-- stored beside the plaintext rest of the record, lets the SSN be searched
-- out of it. The unkeyed hashes written before are erased. '' means
-- "write this row next time": the next file of each connection rewrites
-- its employees' hashes (an update that changes no field emits no event),
-- and a dependent whose hash does not match is compared by value.
UPDATE employees SET content_hash = ''::bytea, source_hash = ''::bytea;
UPDATE dependents SET content_hash = '';
DELETE FROM employee_index;
