"""The template resources every signed route needs: the HTTP API and its authorizer.

For the small templates the handler-level tests provision (inserted at the resources'
indentation, two spaces), so each test module declares only its own functions.
"""

SIGNED_HTTP_API = """\
  HttpApi:
    Type: AWS::Serverless::HttpApi
    Properties:
      Auth:
        DefaultAuthorizer: RequestSigner
        Authorizers:
          RequestSigner:
            FunctionArn: !GetAtt AuthorizerFunction.Arn
            AuthorizerPayloadFormatVersion: "2.0"
            EnableSimpleResponses: true
            Identity:
              Headers:
                - X-Fr-Key-Id
                - X-Fr-Timestamp
                - X-Fr-Nonce
                - X-Fr-Content-Sha256
                - X-Fr-Signature
              ReauthorizeEvery: 0
  AuthorizerFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: handlers.authorizer.handler
"""
