package storage

// SQLDomainsSoftware is the query of [Store.DomainsSoftware], for a test
// of its plan.
const SQLDomainsSoftware = sqlDomainsSoftware
