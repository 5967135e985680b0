-- The software each remote host runs, for the delivery metrics' lookup
-- of a fan-out's new hosts: with (domain, software) in one index the
-- lookup reads the index alone, not every account row of every host.
CREATE INDEX accounts_domain_software ON accounts (domain, software);
