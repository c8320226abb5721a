# One machine, no replication: for a laptop or a CI runner reached over SSH.
# Addresses are from the documentation range 192.0.2.0/24; change them.

cluster "single" {
  description = "One machine, no fault tolerance"
  redundancy  = "single"
}

release "0.1.0" {
  source = "file"
  path   = "../bin/strata"
}

ssh {
  user              = "strata"
  private_key_files = ["~/.ssh/id_ed25519"]
  sudo              = true
}

host "db1" {
  address   = "192.0.2.10"
  processes = { storage = 2, log = 1, stateless = 1 }
}
