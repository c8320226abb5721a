# Three machines, two copies of every key. Each machine is its own zone, so
# losing any one keeps the data and a majority of the three coordinators.

variable "addresses" {
  type        = list(string)
  default     = ["192.0.2.11", "192.0.2.12", "192.0.2.13"]
  description = "One address per machine; at least three."

  validation {
    condition     = length(var.addresses) >= 3
    error_message = "double redundancy needs at least three machines."
  }
}

variable "release_sha256" {
  type    = string
  default = "0f0e8e3a6a2c3d4b5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5"
}

cluster "prod" {
  description    = "Three-machine double cluster"
  redundancy     = "double"
  storage_engine = "ssd"
  coordinators   = "auto"
  commit_proxies = 2
  grv_proxies    = 1
  resolvers      = 1
  logs           = 3
}

release "0.1.0" {
  source = "url"
  url    = "https://downloads.example.com/strata/0.1.0/strata-linux-amd64"
  sha256 = var.release_sha256
}

ssh {
  user        = "strata"
  sudo        = true
  known_hosts = "~/.ssh/known_hosts"
}

defaults {
  memory    = "8GiB"
  processes = { storage = 2, log = 1, stateless = 1 }
}

dynamic "host" {
  for_each = { for i, addr in var.addresses : format("db%d", i + 1) => addr }
  labels   = [host.key]

  content {
    address = host.value
  }
}
