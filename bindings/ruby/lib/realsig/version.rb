# frozen_string_literal: true

module Realsig
  VERSION = "0.1.0"
end
