# frozen_string_literal: true

# Every case of the official v4 suite, header and query form, through the gem: canonical
# request, string to sign and signature equal the suite's files. One test per case and form,
# generated from the folders.

require_relative "test_helper"

class TestVectors < Minitest::Test
  SUITE = TestSupport.vectors_dir.join("aws-signing-test-suite", "v4")
  CASES = SUITE.children.select(&:directory?).map { |d| d.basename.to_s }.sort

  def test_the_suite_has_cases
    assert_operator CASES.size, :>=, 30, CASES
  end

  def check(name, form)
    dir = SUITE.join(name)
    out = TestSupport.sign_case(dir, form)
    expect = ->(part) { dir.join("#{form}-#{part}.txt").read.rstrip }
    assert_equal expect.("canonical-request"), out.canonical_request
    assert_equal expect.("string-to-sign"), out.string_to_sign
    assert_equal expect.("signature"), out.signature
    if form == "query"
      assert out.url.end_with?("X-Amz-Signature=#{expect.("signature")}"), out.url
    else
      assert_includes out.headers.fetch("authorization"), "Signature=#{expect.("signature")}"
    end
  end

  CASES.each do |name|
    %w[header query].each do |form|
      define_method("test_#{name}_#{form}") { check(name, form) }
    end
  end
end
