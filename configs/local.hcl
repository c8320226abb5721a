# A three-zone cluster on this machine, for development and tests.
#
# Each "host" is a set of processes on 127.0.0.1 reached with the local
# transport (no SSH). The three hosts take distinct zones, port ranges and
# directories, so `double` redundancy works on one machine: data lives in two
# zones and the three coordinators sit in three zones.
#
#   strata validate configs/local.hcl
#   strata validate -var root=/srv/strata-dev configs/local.hcl

variable "root" {
  type        = string
  default     = "/tmp/strata-local"
  description = "Directory that holds every file of the local cluster."

  validation {
    condition     = substr(var.root, 0, 1) == "/"
    error_message = "The root must be an absolute path."
  }
}

variable "redundancy" {
  type        = string
  default     = "double"
  description = "single needs one zone; double needs the three below."
}

locals {
  # Zone name => first server port of that zone's processes.
  zones = {
    z1 = 4500
    z2 = 4510
    z3 = 4520
  }
}

cluster "local" {
  description    = "Three zones on one machine"
  redundancy     = var.redundancy
  storage_engine = "ssd"
}

# The strata binary that runs the deployer is the one installed.
release "dev" {
  source = "local_binary"
}

paths {
  install = "${var.root}/opt"
}

defaults {
  memory    = "1GiB"
  processes = { storage = 1, log = 1, stateless = 1 }
}

dynamic "host" {
  for_each = local.zones
  labels   = ["local-${host.key}"]

  content {
    transport = "local"
    address   = "127.0.0.1"
    zone      = host.key

    overrides {
      port_base = host.value
      paths {
        conf = "${var.root}/${host.key}/etc"
        data = "${var.root}/${host.key}/data"
        log  = "${var.root}/${host.key}/log"
      }
    }
  }
}
