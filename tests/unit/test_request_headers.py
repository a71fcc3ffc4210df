from intygsgw.http.wsgi import request_headers


def test_headers_from_the_process_environment_are_not_request_headers():
    process_env = {"HTTP_PROXY": "http://proxy:3128", "HTTP_X_RIVTA_ORIGINAL_SERVICECONSUMER_HSAID": "SE-FAKE"}
    environ = {**process_env, "HTTP_HOST": "gw", "HTTP_SOAPACTION": '"x"', "REQUEST_METHOD": "POST"}
    assert request_headers(environ, process_env) == {"host": "gw", "soapaction": '"x"'}


def test_a_caller_header_that_overrides_an_inherited_variable_is_kept():
    process_env = {"HTTP_X_RIVTA_ORIGINAL_SERVICECONSUMER_HSAID": "SE-FAKE"}
    environ = {"HTTP_X_RIVTA_ORIGINAL_SERVICECONSUMER_HSAID": "SE2321000016-REAL"}
    assert request_headers(environ, process_env) == {"x-rivta-original-serviceconsumer-hsaid": "SE2321000016-REAL"}
