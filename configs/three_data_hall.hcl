# Three data halls of three machines each. Data keeps three copies, one per
# hall; the nine coordinators take three zones in every hall, so the cluster
# survives losing a whole hall plus one more machine.

variable "halls" {
  type = map(list(string))
  default = {
    hall_a = ["192.0.2.64", "192.0.2.65", "192.0.2.66"]
    hall_b = ["192.0.2.80", "192.0.2.81", "192.0.2.82"]
    hall_c = ["192.0.2.96", "192.0.2.97", "192.0.2.98"]
  }
}

locals {
  machines = merge([
    for hall, addrs in var.halls : {
      for i, addr in addrs : "${hall}-m${i + 1}" => { hall = hall, address = addr }
    }
  ]...)
}

cluster "halls" {
  description = "Three data halls"
  redundancy  = "three_data_hall"
  logs        = 4
}

release "0.1.0" {
  source = "url"
  url    = "https://downloads.example.com/strata/0.1.0/strata-linux-amd64"
  sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
}

ssh {
  user = "strata"
  sudo = true
}

defaults {
  processes = { storage = 2, log = 1, stateless = 1 }
}

dynamic "host" {
  for_each = local.machines
  labels   = [host.key]

  content {
    address   = host.value.address
    data_hall = host.value.hall
  }
}
