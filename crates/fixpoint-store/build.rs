// The migrations are compiled into the binary (sqlx::migrate!); a new file in either
// folder must rebuild the crate, which cargo does not notice on its own.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
