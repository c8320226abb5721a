# Five machines, three copies of every key, five coordinators in five zones.
# The machines sit in one subnet; cidrhost numbers them.

variable "subnet" {
  type    = string
  default = "192.0.2.32/28"
}

locals {
  names = ["db1", "db2", "db3", "db4", "db5"]
}

cluster "triple" {
  redundancy = "triple"
}

release "0.1.0" {
  source = "file"
  path   = "/srv/releases/strata-0.1.0"
  sha256 = "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"
}

ssh {
  user = "strata"
  sudo = true

  bastion {
    address = "198.51.100.1"
    user    = "jump"
  }
}

defaults {
  memory    = "16GiB"
  processes = { storage = 2, log = 1, stateless = 1 }
}

dynamic "host" {
  for_each = { for i, name in local.names : name => i }
  labels   = [host.key]

  content {
    address = cidrhost(var.subnet, host.value + 1)
    # db5 gets a bigger disk and runs a third storage process.
    processes = host.key == "db5" ? { storage = 3, log = 1, stateless = 1 } : null
  }
}
