DROP TABLE policy_version;
