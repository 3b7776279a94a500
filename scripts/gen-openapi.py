import json
ref=lambda n: {"$ref": f"#/components/schemas/{n}"}
def ok(data_schema, msg_desc="Ok"):
    return {"type":"object","required":["data","message","status"],"properties":{"data":data_schema,"message":{"type":"string"},"status":{"type":"string","const":"Ok"}}}
def resp(desc, schema, ctype="application/json"):
    return {"description":desc,"content":{ctype:{"schema":schema}}}
err=lambda d: resp(d, ref("Error"))
E={c:{"$ref":f"#/components/responses/E{c}"} for c in [400,401,404,405,409,413,422,500,503]}
def errs(*codes):
    return {str(c):E[c] for c in codes}
nullable=lambda t: {"type":[t,"null"]}
sec=[{"bearer":[]}]
schemas={
 "Error":{"type":"object","required":["data","message","status","errors"],"properties":{
   "data":{"type":"null"},"message":{"type":"string"},"status":{"type":"string","const":"Error"},
   "errors":{"type":"array","items":{"type":"object","required":["field","message"],"properties":{"field":{"type":"string"},"message":{"type":"string"}}}}}},
 "Recipient":{"type":"object","required":["phone_number"],"properties":{
   "phone_number":{"type":"string","description":"E.164, e.g. +2348076960623; with a default country set (GET /settings), also a local number such as 0803 123 4567"},
   "user_tag_identifiers":{"type":"object","additionalProperties":True},
   "workflow_variables":{"type":"object","additionalProperties":{"type":["string","number","boolean"]}}}},
 "CallRequest":{"type":"object","required":["workflow_id","workflow_params"],"properties":{
   "workflow_id":{"type":"string","format":"uuid"},
   "workflow_params":{"type":"array","minItems":1,"maxItems":10000,"items":ref("Recipient")},
   "tts_voice_accent":{"type":"string"},"tts_voice_gender":{"type":"string","enum":["male","female"]},
   "callback_url":{"type":"string","format":"uri"},"caller_id":{"type":"string"},
   "name":{"type":"string","maxLength":200,"description":"A label for the batch, shown on the dashboard (extension)."},
   "schedule":{"type":"object","properties":{"not_before":{"type":"string","format":"date-time"},"not_after":{"type":"string","format":"date-time"}}},
   "retry":{"type":"object","properties":{"max_attempts":{"type":"integer","minimum":1,"maximum":10},"backoff_seconds":{"type":"integer","minimum":0,"maximum":86400}}}}},
 "BatchCreated":ok({"type":"object","required":["batch_id"],"properties":{"batch_id":{"type":"string","format":"uuid"}}}),
 "CallStatus":ok({"type":"object","required":["call_id","call_duration_in_seconds","processing_status"],"properties":{
   "call_id":{"type":"string"},"call_duration_in_seconds":{"type":"integer"},
   "processing_status":{"type":"string","enum":["VOICE_CALL_QUEUED","VOICE_CALL_PROCESSING","VOICE_CALL_PROCESSED","VOICE_CALL_FAILED","VOICE_CALL_CANCELLED"]},
   "batch_id":{"type":"string"},"status":ref("ReportCallStatus"),"phone_number":{"type":"string"},
   "attempts":{"type":"integer"},"outcome":nullable("string"),"call_result_options_selected":nullable("string")}}),
 "ReportCallStatus":{"type":"string","enum":["QUEUED","PROCESSING","COMPLETED","TIMEOUT","FAILED","CANCELLED"]},
 "ReportCall":{"type":"object","required":["id","status","phone_number","user_tag_identifiers","call_result_duration","call_result_options_selected","created_at"],"properties":{
   "id":{"type":"string"},"status":ref("ReportCallStatus"),"phone_number":{"type":"string"},
   "user_tag_identifiers":{"type":"object"},"call_result_duration":{"type":"integer"},
   "call_result_options_selected":nullable("string"),"created_at":{"type":"string","pattern":"^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{6}$"}}},
 "Stats":{"type":"object","required":["total_calls","completed_calls","timeout_calls","replied_calls","replied_option_one_count","replied_option_two_count","avg_duration","success_rate"],"properties":{
   **{k:{"type":"integer"} for k in ["total_calls","completed_calls","timeout_calls","replied_calls","replied_option_one_count","replied_option_two_count"]},
   "avg_duration":{"type":"number"},"success_rate":{"type":"number"},
   "response_options_counts":{"type":"object","additionalProperties":{"type":"integer"}}}},
 "BatchReport":{"type":"object","required":["request_id","status","integrator_id","stats","request_calls"],"description":"The completion-callback payload (CONTRACT.md §7).","properties":{
   "request_id":{"type":"string"},"status":{"type":"string","enum":["PENDING","IN_PROGRESS","COMPLETED","CANCELLED"]},
   "integrator_id":{"type":"string"},"stats":ref("Stats"),"request_calls":{"type":"array","items":ref("ReportCall")}}},
 "BatchReportResponse":ok(ref("BatchReport")),
 "CallRow":{"allOf":[ref("ReportCall"),{"type":"object","required":["attempts","row","workflow_variables","updated_at"],"properties":{
   "attempts":{"type":"integer"},"outcome":nullable("string"),"sip_code":nullable("integer"),"reason":nullable("string"),
   "row":{"type":"integer","description":"0-based position in the request"},"workflow_variables":{"type":"object"},
   "next_attempt_at":{**nullable("string"),"description":"when a queued call is next dialed"},"updated_at":{"type":"string"}}}]},
 "CallsPage":ok({"type":"object","required":["batch_id","calls","next_cursor"],"properties":{
   "batch_id":{"type":"string"},"next_cursor":nullable("string"),
   "calls":{"type":"array","items":ref("CallRow")}}}),
 "CallTimeline":ok({"type":"object","required":["batch_id","call","max_attempts","options","attempts","audio_available"],"properties":{
   "batch_id":{"type":"string"},"batch_name":nullable("string"),"call":ref("CallRow"),"max_attempts":{"type":"integer"},
   "options":{"type":"object","additionalProperties":{"type":"string"},"description":"digit → meaning of the first question's answer"},
   "audio_available":{"type":"boolean","description":"an answered attempt recorded what it played (GET /call/{id}/audio)"},
   "attempts":{"type":"array","items":{"type":"object","required":["attempt_no","trunk","state","started_at","digits","prompts_played"],"properties":{
     "attempt_no":{"type":"integer"},"trunk":{"type":"string"},"state":{"type":"string","enum":["DIALING","ENDED","INTERRUPTED"]},
     "outcome":nullable("string"),"sip_code":nullable("integer"),"started_at":{"type":"string"},"answered_at":nullable("string"),
     "ended_at":nullable("string"),"digits":{"type":"string","description":"every keypad digit pressed, in order"},"prompts_played":{"type":"integer"}}}}}}),
 "Validated":ok({"type":"object","required":["calls","phone_numbers","workflow_id","workflow_name","tts_voice_accent","tts_voice_gender","native_voice","max_attempts"],"properties":{
   "calls":{"type":"integer"},"phone_numbers":{"type":"array","items":{"type":"string"},"description":"every number as it will be dialed (E.164), in request order"},
   "workflow_id":{"type":"string"},"workflow_name":{"type":"string"},"name":nullable("string"),"tts_voice_accent":{"type":"string"},"tts_voice_gender":{"type":"string"},
   "native_voice":{"type":"boolean"},"max_attempts":{"type":"integer"},"not_before":nullable("string"),"not_after":nullable("string"),
   "calling_window":{"oneOf":[{"type":"null"},ref("CallingWindow")]}}}),
 "CallingWindow":{"type":"object","required":["start","end"],"description":"Hours calls are placed, in each recipient's local time (start = end: all day)","properties":{"start":{"type":"string"},"end":{"type":"string"}}},
 "Settings":ok({"type":"object","required":["integrator_id","name","default_country"],"properties":{
   "integrator_id":{"type":"string"},"name":{"type":"string"},"callback_url":nullable("string"),
   "default_country":{**nullable("string"),"description":"ISO 3166 region whose local numbers intake accepts (e.g. NG)"}}}),
 "WorkflowPreviewRequest":{"type":"object","required":["workflow"],"properties":{
   "workflow":ref("WorkflowInput"),"variables":{"type":"object","additionalProperties":{"type":"string"}},
   "accent":{"type":"string"},"gender":{"type":"string","enum":["female","male"]},
   "format":{"type":"string","enum":["wav","text"],"description":"wav (default): the whole call spoken; text: its prompts as JSON"}}},
 "CancelResult":ok({"type":"object","required":["batch_id","cancelled_calls","status"],"properties":{"batch_id":{"type":"string"},"cancelled_calls":{"type":"integer"},"status":{"type":"string"}}}),
 "Step":{"description":"One of say / play / gather / hangup.","oneOf":[
   {"type":"object","required":["say"],"properties":{"say":{"type":"string"}},"additionalProperties":False},
   {"type":"object","required":["play"],"properties":{"play":{"oneOf":[{"type":"string"},{"type":"object","additionalProperties":{"type":"string"}}]}},"additionalProperties":False},
   {"type":"object","required":["gather"],"properties":{"gather":{"type":"object","required":["prompt","options"],"properties":{"prompt":{"type":"string"},"options":{"type":"object","additionalProperties":{"type":"string"}},
     "timeout_seconds":{"type":"integer","minimum":1,"maximum":60},"attempts":{"type":"integer","minimum":1,"maximum":5},"next":{"type":"object","additionalProperties":{"type":"integer","minimum":0}}}}},"additionalProperties":False},
   {"type":"object","required":["hangup"],"properties":{"hangup":{"type":"boolean"}},"additionalProperties":False}]},
 "WorkflowInput":{"type":"object","required":["name"],"description":"Either the hosted product's shape (message, include_reply, response_options | option_one/option_two) or a steps list (CONTRACT.md §3).","properties":{
   "name":{"type":"string"},"description":{"type":"string"},"workflow_type":{"type":"string","enum":["ROBOCALL"]},
   "status":{"type":"string","enum":["ACTIVE","INACTIVE"]},"message":{"type":"string"},"include_reply":{"type":"boolean"},
   "response_options":{"type":"object","additionalProperties":{"type":"string"}},"option_one":{"type":"string"},"option_two":{"type":"string"},
   "call_back_url":{"type":"string","format":"uri"},"opt_out_digit":{"type":"string"},"steps":{"type":"array","items":ref("Step")}}},
 "Workflow":{"type":"object","required":["workflow_id","name","workflow_type","status","variables","steps","created_at","updated_at"],"properties":{
   "workflow_id":{"type":"string"},"name":{"type":"string"},"description":nullable("string"),"workflow_type":{"type":"string"},
   "status":{"type":"string","enum":["ACTIVE","INACTIVE"]},"message":{"type":"string"},"include_reply":{"type":"boolean"},
   "response_options":{"type":"object","additionalProperties":{"type":"string"}},"call_back_url":nullable("string"),"opt_out_digit":nullable("string"),
   "variables":{"type":"array","items":{"type":"string"}},"steps":{"type":"array","items":{"type":"object"}},
   "created_at":{"type":"string"},"updated_at":{"type":"string"}}},
 "WorkflowResponse":ok(ref("Workflow")),
 "WorkflowList":ok({"type":"object","required":["workflows"],"properties":{"workflows":{"type":"array","items":ref("Workflow")}}}),
 "WorkflowDeleted":ok({"type":"object","required":["workflow_id"],"properties":{"workflow_id":{"type":"string"}}}),
 "Voices":ok({"type":"object","required":["voices","default_accent","default_gender"],"properties":{
   "default_accent":{"type":"string"},"default_gender":{"type":"string"},
   "voices":{"type":"array","items":{"type":"object","required":["accent","genders","native","engines","voices"],"properties":{"accent":{"type":"string"},"genders":{"type":"array","items":{"type":"string"}},"native":{"type":"boolean"},"engines":{"type":"array","items":{"type":"string"}},
     "voices":{"type":"array","items":{"type":"object","required":["gender","engine","native"],"properties":{"gender":{"type":"string"},"engine":{"type":"string"},"native":{"type":"boolean"}}}}}}}}}),
 "CallbackDelivery":ok({"type":"object","required":["batch_id","batch_status","webhook_id","state","attempts","attempt_log"],"description":"Completion-callback delivery (CONTRACT.md §7). state is NOT_FINAL until the batch is final.","properties":{
   "batch_id":{"type":"string"},"batch_status":{"type":"string","enum":["PENDING","IN_PROGRESS","COMPLETED","CANCELLED"]},
   "webhook_id":nullable("string"),"state":{"type":"string","enum":["NOT_FINAL","NONE","PENDING","DELIVERED","EXHAUSTED","GONE","NO_TARGET"]},
   "attempts":{"type":"integer"},"next_attempt_at":nullable("string"),"target_url":nullable("string"),"last_error":nullable("string"),"delivered_at":nullable("string"),
   "attempt_log":{"type":"array","items":{"type":"object","required":["attempt_no","started_at","outcome"],"properties":{
     "attempt_no":{"type":"integer"},"url":nullable("string"),"started_at":{"type":"string"},"http_status":nullable("integer"),
     "latency_ms":nullable("integer"),"error":nullable("string"),"outcome":{"type":"string","enum":["DELIVERED","RETRY","EXHAUSTED","GONE","NO_TARGET"]}}}}}}),
 "BatchList":ok({"type":"object","required":["batches","next_cursor"],"properties":{
   "next_cursor":{**nullable("string"),"description":"Pass as ?cursor= for the next (older) page; null on the last page."},
   "batches":{"type":"array","items":{"type":"object","required":["batch_id","created_at","completed_at","status","workflow_id","workflow_name","tts_voice_accent","tts_voice_gender","total_calls","progress"],"properties":{
     "batch_id":{"type":"string"},"created_at":{"type":"string"},"completed_at":nullable("string"),
     "status":{"type":"string","enum":["PENDING","IN_PROGRESS","COMPLETED","CANCELLED"]},
     "workflow_id":{"type":"string"},"workflow_name":nullable("string"),"tts_voice_accent":{"type":"string"},"tts_voice_gender":{"type":"string"},
     "total_calls":{"type":"integer"},"name":nullable("string"),"next_attempt_at":{**nullable("string"),"description":"when the earliest queued call is due"},
     "progress":{"type":"object","description":"Calls by status. processing: an attempt is live; queued includes calls waiting for a retry; finished: completed + timeout + failed + cancelled.",
       "required":["queued","processing","completed","timeout","failed","cancelled","finished"],
       "properties":{k:{"type":"integer","minimum":0} for k in ["queued","processing","completed","timeout","failed","cancelled","finished"]}}}}}}}),
 "Health":ok({"type":"object","required":["healthy"],"properties":{"healthy":{"type":"boolean"}}}),
}
def p(name, desc="", schema=None):
    return {"name":name,"in":"path","required":True,"description":desc,"schema":schema or {"type":"string"}}
paths={
 "/voicebot/v1/call":{"post":{"operationId":"placeBatch","summary":"Place a robocall batch (the seed's endpoint)","security":sec,
   "parameters":[{"name":"Idempotency-Key","in":"header","required":False,"schema":{"type":"string","minLength":1,"maxLength":255}}],
   "requestBody":{"required":True,"content":{"application/json":{"schema":ref("CallRequest")}}},
   "responses":{"200":resp("Batch stored; every call QUEUED.",ref("BatchCreated")),**errs(400,401,409,413,422,500)}}},
 "/voicebot/v1/status/{call_id}":{"get":{"operationId":"callStatus","summary":"Call status (the seed's shape)","security":sec,"parameters":[p("call_id")],
   "responses":{"200":resp("Found",ref("CallStatus")),**errs(401,404,500)}}},
 "/voicebot/v1/batches":{"get":{"operationId":"listBatches","summary":"Your batches, newest first, with live progress counts","security":sec,"parameters":[
   {"name":"cursor","in":"query","required":False,"schema":{"type":"string"},"description":"next_cursor of the previous page"},
   {"name":"limit","in":"query","required":False,"schema":{"type":"integer","minimum":1,"maximum":100},"description":"default 20"}],
   "responses":{"200":resp("Page",ref("BatchList")),**errs(400,401,422,500)}}},
 "/voicebot/v1/call/{call_id}/audio":{"get":{"operationId":"callAudio","summary":"What this call played, as one 8 kHz mono WAV",
   "description":"The prompts the call's last answered attempt played, in order, read back from the render cache and recording store by the names the attempt recorded (never rendered again), joined with 400 ms of silence. 404 for a call never answered; 410 once the cache no longer holds them; 503 on a node without a TTS engine.",
   "security":sec,"parameters":[p("call_id")],
   "responses":{"200":resp("WAV",{"type":"string","format":"binary"},"audio/wav"),"410":err("The audio is no longer cached"),**errs(401,404,422,500,503)}}},
 "/voicebot/v1/call/{call_id}/attempts":{"get":{"operationId":"callTimeline","summary":"A call with its attempts (times, SIP outcome, digits) and answer meanings","security":sec,"parameters":[p("call_id")],
   "responses":{"200":resp("Found",ref("CallTimeline")),**errs(401,404,500)}}},
 "/voicebot/v1/call/validate":{"post":{"operationId":"validateBatch","summary":"Every check of POST /call without storing: numbers as they will be dialed, voice, window","security":sec,
   "requestBody":{"required":True,"content":{"application/json":{"schema":ref("CallRequest")}}},
   "responses":{"200":resp("Valid",ref("Validated")),**errs(400,401,413,422,500)}}},
 "/voicebot/v1/batches/{batch_id}":{"get":{"operationId":"batchOverview","summary":"One batch with its progress, schedule, calling window, next attempt and answer meanings","security":sec,"parameters":[p("batch_id")],
   "responses":{"200":resp("Found",ok({"type":"object"})),**errs(401,404,500)}}},
 "/voicebot/v1/settings":{
   "get":{"operationId":"getSettings","summary":"Your account's settings","security":sec,"responses":{"200":resp("Settings",ref("Settings")),**errs(401,500)}},
   "patch":{"operationId":"updateSettings","summary":"Change default_country (null clears it)","security":sec,
     "requestBody":{"required":True,"content":{"application/json":{"schema":{"type":"object","properties":{"default_country":nullable("string")}}}}},
     "responses":{"200":resp("Updated",ref("Settings")),**errs(400,401,413,422,500)}}},
 "/voicebot/v1/workflows/preview":{"post":{"operationId":"previewWorkflow","summary":"The whole call of a workflow (saved or not): spoken as WAV, or its prompts as text","security":sec,
   "requestBody":{"required":True,"content":{"application/json":{"schema":ref("WorkflowPreviewRequest")}}},
   "responses":{"200":{"description":"WAV, or JSON with format=text","content":{"audio/wav":{"schema":{"type":"string","format":"binary"}},"application/json":{"schema":ok({"type":"object"})}}},**errs(400,401,413,422,500,503)}}},
 "/voicebot/v1/voices/preview":{"get":{"operationId":"voicePreview","summary":"Hear a voice: text spoken by an accent and gender, as WAV","security":sec,"parameters":[
   {"name":"accent","in":"query","required":False,"schema":{"type":"string"},"description":"an accent of GET /voices (default: the server's default accent)"},
   {"name":"gender","in":"query","required":False,"schema":{"type":"string","enum":["female","male"]}},
   {"name":"text","in":"query","required":False,"schema":{"type":"string","maxLength":300},"description":"at most 300 characters; default a short greeting"}],
   "responses":{"200":resp("WAV",{"type":"string","format":"binary"},"audio/wav"),**errs(400,401,422,500,503)}}},
 "/voicebot/v1/call/{call_id}":{"get":{"operationId":"callStatusAlias","summary":"Alias of /status/{call_id}","security":sec,"parameters":[p("call_id")],
   "responses":{"200":resp("Found",ref("CallStatus")),**errs(401,404,500)}}},
 "/voicebot/v1/batch/{batch_id}":{"get":{"operationId":"batchReport","summary":"Batch result, shaped as the completion callback","security":sec,"parameters":[p("batch_id")],
   "responses":{"200":resp("Found",ref("BatchReportResponse")),**errs(401,404,500)}}},
 "/voicebot/v1/batch/{batch_id}/calls":{"get":{"operationId":"batchCalls","summary":"Calls of a batch, paged","security":sec,"parameters":[p("batch_id"),
   {"name":"status","in":"query","required":False,"schema":{"type":"string","enum":["QUEUED","PROCESSING","COMPLETED","TIMEOUT","FAILED","CANCELLED"]}},
   {"name":"q","in":"query","required":False,"schema":{"type":"string","maxLength":100},"description":"text in the number, variables or tags (case-insensitive)"},
   {"name":"sort","in":"query","required":False,"schema":{"type":"string"},"description":"row (default), phone_number, status, attempts, duration, updated_at or variable:<name>"},
   {"name":"order","in":"query","required":False,"schema":{"type":"string","enum":["asc","desc"]}},
   {"name":"cursor","in":"query","required":False,"schema":{"type":"string"}},
   {"name":"limit","in":"query","required":False,"schema":{"type":"integer","minimum":1,"maximum":1000}}],
   "responses":{"200":resp("Page",ref("CallsPage")),**errs(400,401,404,422,500)}}},
 "/voicebot/v1/batch/{batch_id}/calls.csv":{"get":{"operationId":"batchCallsCsv","summary":"Calls of a batch as CSV","security":sec,"parameters":[p("batch_id")],
   "responses":{"200":resp("CSV",{"type":"string"},"text/csv"),**errs(401,404,500)}}},
 "/voicebot/v1/batch/{batch_id}/cancel":{"post":{"operationId":"cancelBatch","summary":"Cancel calls not yet dialed","security":sec,"parameters":[p("batch_id")],
   "responses":{"200":resp("Cancelled",ref("CancelResult")),**errs(401,404,500)}}},
 "/voicebot/v1/batch/{batch_id}/callback":{"get":{"operationId":"batchCallback","summary":"Completion-callback delivery state and attempts","security":sec,"parameters":[p("batch_id")],
   "responses":{"200":resp("Found",ref("CallbackDelivery")),**errs(401,404,500)}}},
 "/voicebot/v1/batch/{batch_id}/callback/redeliver":{"post":{"operationId":"redeliverCallback","summary":"Send the completion callback again (same webhook-id)","security":sec,"parameters":[p("batch_id")],
   "responses":{"200":resp("Scheduled",ref("CallbackDelivery")),**errs(401,404,422,500)}}},
 "/voicebot/v1/workflows":{
   "get":{"operationId":"listWorkflows","security":sec,"responses":{"200":resp("List",ref("WorkflowList")),**errs(401,500)}},
   "post":{"operationId":"createWorkflow","security":sec,"requestBody":{"required":True,"content":{"application/json":{"schema":ref("WorkflowInput")}}},
     "responses":{"200":resp("Created",ref("WorkflowResponse")),**errs(400,401,413,422,500)}}},
 "/voicebot/v1/workflows/{workflow_id}":{
   "get":{"operationId":"getWorkflow","security":sec,"parameters":[p("workflow_id")],"responses":{"200":resp("Found",ref("WorkflowResponse")),**errs(401,404,500)}},
   "put":{"operationId":"putWorkflow","summary":"Create under this id, or replace","security":sec,"parameters":[p("workflow_id","a UUID",{"type":"string","format":"uuid"})],
     "requestBody":{"required":True,"content":{"application/json":{"schema":ref("WorkflowInput")}}},
     "responses":{"200":resp("Created or replaced",ref("WorkflowResponse")),**errs(400,401,413,422,500)}},
   "delete":{"operationId":"deleteWorkflow","security":sec,"parameters":[p("workflow_id")],"responses":{"200":resp("Deleted",ref("WorkflowDeleted")),**errs(401,404,500)}}},
 "/voicebot/v1/voices":{"get":{"operationId":"listVoices","security":sec,"responses":{"200":resp("Accent table",ref("Voices")),**errs(401,500)}}},
 "/voicebot/v1/audio":{"post":{"operationId":"uploadAudio","summary":"Upload a recorded prompt (WAV or MP3 body); stored as 8 kHz mono","security":sec,
   "requestBody":{"required":True,"description":"The WAV or MP3 file's bytes (any Content-Type).","content":{"application/octet-stream":{"schema":{"type":"string","format":"binary"}}}},
   "responses":{"200":resp("Stored",ok({"type":"object","required":["audio_id","duration_seconds","sample_rate"],"properties":{"audio_id":{"type":"string"},"duration_seconds":{"type":"number"},"sample_rate":{"type":"integer"}}})),**errs(401,413,422,500)}}},
 "/voicebot/v1/audio/{audio_id}":{"get":{"operationId":"downloadAudio","summary":"A recorded prompt as 8 kHz mono WAV","security":sec,"parameters":[p("audio_id")],
   "responses":{"200":resp("WAV",{"type":"string","format":"binary"},"audio/wav"),**errs(401,404,500)}}},
 "/voicebot/v1/dnc":{
   "get":{"operationId":"listDoNotCall","security":sec,"responses":{"200":resp("The list",ok({"type":"object","required":["numbers"],"properties":{"numbers":{"type":"array","items":{"type":"object","required":["phone_number","source","created_at"],"properties":{"phone_number":{"type":"string"},"source":{"type":"string"},"created_at":{"type":"string"}}}}}})),**errs(401,500)}},
   "post":{"operationId":"addDoNotCall","security":sec,"requestBody":{"required":True,"content":{"application/json":{"schema":{"type":"object","required":["phone_number"],"properties":{"phone_number":{"type":"string"}}}}}},
     "responses":{"200":resp("Added",ok({"type":"object","required":["phone_number"],"properties":{"phone_number":{"type":"string"}}})),**errs(400,401,413,422,500)}}},
 "/voicebot/v1/dnc/{phone_number}":{"delete":{"operationId":"removeDoNotCall","security":sec,"parameters":[p("phone_number")],
   "responses":{"200":resp("Removed",ok({"type":"object","required":["phone_number"],"properties":{"phone_number":{"type":"string"}}})),**errs(401,404,500)}}},
 "/healthz":{"get":{"operationId":"health","responses":{"200":resp("Healthy",ref("Health")),**errs(500)}}},
 "/":{"get":{"operationId":"dashboard","summary":"The operator dashboard (HTML; log in with an API key)","responses":{"200":resp("HTML page",{"type":"string"},"text/html")}}},
 "/docs":{"get":{"operationId":"docs","summary":"This API's documentation, rendered from /openapi.json (HTML)","responses":{"200":resp("HTML page",{"type":"string"},"text/html")}}},
 "/openapi.json":{"get":{"operationId":"openapi","responses":{"200":resp("This document",{"type":"object"})}}},
}
doc={"openapi":"3.1.0","info":{"title":"voicebot API","version":"0.1.0","description":"Outbound voice-call batches. The seed-compatible routes are POST /voicebot/v1/call, GET /voicebot/v1/status/{call_id} and the completion callback (shaped as GET /voicebot/v1/batch/{batch_id})."},
 "servers":[{"url":"/"}],
 "components":{"securitySchemes":{"bearer":{"type":"http","scheme":"bearer"}},"schemas":schemas,
   "responses":{f"E{c}":err(d) for c,d in [(400,"Malformed JSON or wrong types"),(401,"Missing or unknown API key"),(404,"Unknown id (or another integrator's)"),(405,"Method not allowed"),(409,"Idempotency-Key reused with another body"),(413,"Body too large"),(422,"Semantically invalid"),(500,"Internal error"),(503,"This node has no TTS engine configured (API-only node without espeak-ng)")]}},
 "paths":paths}
print(json.dumps(doc,indent=1))
