//! In-memory Azure Storage: blob containers, queues (visibility timeouts, pop receipts, dequeue
//! counts, TTL) and tables.

#[derive(Debug, Default)]
pub struct Store {}

impl Store {
    pub fn new() -> Self {
        Store::default()
    }
    pub fn create_container(&self, name: &str) {
        todo!("{name}")
    }
    pub fn create_queue(&self, name: &str) {
        todo!("{name}")
    }
    pub fn create_table(&self, name: &str) {
        todo!("{name}")
    }
}
