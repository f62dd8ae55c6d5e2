package packaging

import (
	"bytes"
	"text/template"

	"github.com/rudderctl/rudderctl/lambda/manifest"
)

// TemplateData fills the SAM template.
type TemplateData struct {
	CodeUri  string // the zip, relative to the template
	Runtime  string
	Arch     string
	MemoryMB int
	Timeout  int
}

var samTemplate = template.Must(template.New("sam").Parse(`AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Description: RudderStack destination transformer on AWS Lambda behind an HTTP API (written by rudderctl package)

Resources:
  TransformerFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: {{printf "%q" .CodeUri}}
      Runtime: {{.Runtime}}
      Handler: ` + Handler + `
      Architectures:
        - {{.Arch}}
      MemorySize: {{.MemoryMB}}
      Timeout: {{.Timeout}}
      Environment:
        Variables:
          AWS_LAMBDA_EXEC_WRAPPER: /var/task/` + manifest.WrapperName + `
      Events:
        Proxy:
          Type: HttpApi
          Properties:
            Path: /{proxy+}
            Method: ANY

Outputs:
  TransformerApiUrl:
    Description: Base URL of the transformer's HTTP API
    Value: !Sub "https://${ServerlessHttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/"
  TransformerFunctionArn:
    Description: The transformer function
    Value: !GetAtt TransformerFunction.Arn
`))

// RenderTemplate renders the SAM template.
func RenderTemplate(d TemplateData) ([]byte, error) {
	if d.MemoryMB == 0 {
		d.MemoryMB = DefaultMemoryMB
	}
	if d.Timeout == 0 {
		d.Timeout = DefaultTimeoutSec
	}
	var b bytes.Buffer
	if err := samTemplate.Execute(&b, d); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
