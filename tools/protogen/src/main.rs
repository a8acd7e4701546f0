//! Regenerates the committed gRPC code of `orrery-proto` from its `.proto` file and
//! records the file's hash, which a test of `orrery-proto` checks.

use sha2::{Digest, Sha256};
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let crate_dir = PathBuf::from(std::env::args().nth(1).ok_or("usage: orrery-protogen CRATE_DIR")?);
    let proto = crate_dir.join("proto/worker.proto");
    let out = crate_dir.join("src/pb");
    std::fs::create_dir_all(&out)?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .out_dir(&out)
        .compile_protos(&[&proto], &[&crate_dir.join("proto")])?;
    let digest = Sha256::digest(std::fs::read(&proto)?);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    std::fs::write(out.join("worker.proto.sha256"), format!("{hex}\n"))?;
    Ok(())
}
