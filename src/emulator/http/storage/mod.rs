//! Path-style Azure Storage endpoints (`/{account}/{container}/{blob}`, `/{account}/{queue}/messages…`,
//! `/{account}/{table}(…)`) over the in-memory [`Store`], with service SAS checked on every call.

use std::sync::Arc;

use crate::emulator::faults::Faults;
use crate::emulator::sas::AccountKey;
use crate::emulator::storage::Store;

#[derive(Clone)]
pub struct StorageState {
    pub store: Arc<Store>,
    pub account: String,
    pub key: AccountKey,
    pub faults: Arc<Faults>,
}

/// Router serving every storage path of `state.account`; anything else is 400 `InvalidUri`.
pub fn router(state: StorageState) -> axum::Router {
    let _ = state;
    todo!()
}
