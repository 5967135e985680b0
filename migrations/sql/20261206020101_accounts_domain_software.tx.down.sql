DROP INDEX accounts_domain_software;
