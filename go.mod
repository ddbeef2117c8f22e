module github.com/scimbridge/scimbridge

go 1.26

require (
	github.com/BurntSushi/toml v1.6.0
	github.com/go-sql-driver/mysql v1.10.1
	github.com/google/uuid v1.6.0
	github.com/gorilla/mux v1.8.1
	github.com/jmoiron/sqlx v1.4.0
)

require filippo.io/edwards25519 v1.2.0 // indirect
