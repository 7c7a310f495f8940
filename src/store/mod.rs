//! Where the database is: Folio's own PostgreSQL cluster in a data folder when no server is
//! given (`own_cluster`), and the read replicas with their health (`replicas`). The SQL itself
//! is in `db`.

pub mod own_cluster;
pub mod replicas;
