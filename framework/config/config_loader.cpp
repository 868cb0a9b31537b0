#include "config/config_loader.hpp"
