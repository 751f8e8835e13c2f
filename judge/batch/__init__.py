"""Offline scale: score and calibrate whole datasets through Bedrock batch inference.

``judge batch submit`` renders every judgement exactly as the Lambda would (same templates,
keyed delimiters, settings and cache keys; verdicts already cached are skipped), writes
them as JSONL records, uploads them to S3 and creates a model invocation job;
``judge batch status`` reports its progress; ``judge batch collect`` downloads the outputs
and runs the ordinary ``judge score`` / ``judge calibrate`` code path with a caller that
answers each judgement from the job's output record instead of calling Converse, through
the same verdict parser. The pipeline caches the verdicts as usual, so the answer is the
on-demand answer for the same verdicts, by construction.

What the Bedrock documentation says, and what this package relies on (stored copies of
the AWS pages, read 2026-11-26):

- Record format (``batch-inference-data``, docs.aws.amazon.com/bedrock/latest/userguide/
  batch-inference-data.html): one JSON object a line, ``{"recordId": ..., "modelInput":
  {...}}``, in files ending ``.jsonl``. With ``modelInvocationType = "Converse"``
  (``CreateModelInvocationJob``, botocore's ``bedrock`` 2023-04-20 model: ``InvokeModel`` |
  ``Converse``) ``modelInput`` is the request body of the Converse API, i.e. the rendered
  request without ``modelId``. "The order of records in the output JSONL file is not
  guaranteed to match the order of records in the input": records are joined on
  ``recordId`` (11 alphanumeric characters here, the length older pages asked for).
- Tool use (``batch-inference``, .../userguide/batch-inference.html): "Batch inference does
  not support tool calling (function calling) or structured output". So a batch job never
  carries the forced ``submit_verdict`` tool: it judges with ``verdict_mode = "text"``,
  whose keyed verdict line (``verdict-KEY: N``) the parser already reads and a response
  cannot forge. Prompt caching is not documented for batch either, so ``cachePoint`` is
  left out (``prompt_cache = false``). Both overrides are recorded in the job manifest and
  applied again at collect time; they change the request, hence the cache key and a
  calibration map's fingerprint (``verdict_mode`` is part of it).
- Quotas (same page; values in Service Quotas / the General Reference "Amazon Bedrock
  endpoints and quotas", per model and account): "Minimum number of records per batch
  inference job", "Records per input file per batch inference job", "Records per batch
  inference job", "Batch inference input file size", "Batch inference job size". The
  stored pages name them but give no values; ``Quotas`` holds commonly reported defaults
  (100 minimum, 50,000 records per file and per job, 1 GB per file, 5 GB per job; the
  50,000 a job also appears in third-party READMEs) and every one is a command-line
  option, to set from your account's Service Quotas.
- Output (``batch-inference-results``, .../userguide/batch-inference-results.html): one
  output file per input file, named after it with ``.out`` appended (``part-00000.jsonl``
  -> ``part-00000.jsonl.out``), lines ``{"recordId", "modelInput", "modelOutput"}`` where
  ``modelOutput`` is the Converse response body; "an error object replaces the modelOutput
  field in any line where there was an error", ``{"errorCode": 400, "errorMessage": "bad
  request"}``; and ``manifest.json.out`` with ``totalRecordCount``,
  ``processedRecordCount``, ``successRecordCount``, ``errorRecordCount``,
  ``inputTokenCount``, ``outputTokenCount``. The stored pages do not say which sub-folder
  of the output URI they land in (commonly one named after the job id); ``collect`` reads
  every ``*.out`` under the job's own output prefix, so the folder name does not matter.
- Control plane (botocore ``bedrock`` service model, REST-JSON): ``POST
  /model-invocation-job`` (Create), ``GET /model-invocation-job/{jobIdentifier}`` (Get,
  which also returns the four record counts), ``GET /model-invocation-jobs`` (List), ``POST
  /model-invocation-job/{jobIdentifier}/stop`` (Stop); statuses ``Submitted``,
  ``Validating``, ``Scheduled``, ``InProgress``, ``Completed``, ``PartiallyCompleted``,
  ``Failed``, ``Stopping``, ``Stopped``, ``Expired``. boto3's ``bedrock`` client honours
  ``AWS_ENDPOINT_URL_BEDROCK``; ``judge.server.control`` serves these routes locally.
- Service role (``batch-iam-sr``, .../userguide/batch-iam-sr.html): trusted by
  ``bedrock.amazonaws.com`` with ``aws:SourceAccount`` and ``aws:SourceArn`` (the account's
  ``model-invocation-job/*``) conditions; it reads the input and writes the output in S3
  and invokes the model. ``judge.batch.iam`` scopes it to the job prefix and the one model.
- Price: aws.amazon.com/bedrock/pricing offers batch for select models below on-demand;
  AWS's ML blog (read in a mirrored copy) puts it at a 50% discount.
  ``judge/batch/data/batch_prices.toml`` (dated) holds the figures used for the comparison.
"""
